"""The main job: the whole SightSound flow on the embedded defaults (`sightsound run`)."""
