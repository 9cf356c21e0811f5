"""The durable-task library: Celery app and routes (``app``), sending a task by name from any process
(``dispatch``), and the one PostgreSQL advisory lock every task row (job, training run, evaluation) uses
(``locks``). PostgreSQL holds every task's state; Redis only carries the messages."""
