"""A real video-encoding worker: ffmpeg transcodes in a subprocess, heartbeats, dead letters, clean shutdown.

``media`` builds the ffmpeg commands, ``worker`` is the App, ``producer`` renders test clips and sends jobs,
``demo`` runs it all end to end on the embedded engine. README.md walks through it.
"""
