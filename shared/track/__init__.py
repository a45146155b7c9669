"""The track contract and what every track shares: ``contract`` (what a track declares once, and the
one vocabulary of its pipeline), ``registry`` (the tracks, found from the folders), ``config`` (what
every ``Config`` shares), ``cli`` (what every pipeline CLI shares), ``profiles`` (teach and source),
``submission`` (submission files, the manifest and its validator). Imports the layers before it in
``shared.LAYERS``."""
