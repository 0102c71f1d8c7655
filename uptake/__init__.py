"""uptake: the front doors (CLI, web, scheduler, database setup) over the domain packages."""

__version__ = "0.1.0"
