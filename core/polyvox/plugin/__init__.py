"""The plugin contract: hook specifications, the `Engine` base class, engine declarations,
the registry that loads plugins, and the tools that install and scaffold them."""
