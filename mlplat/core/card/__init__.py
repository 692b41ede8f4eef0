"""Model cards: a typed card built from a version's evidence, rendered three ways, diffed."""
