"""Stage packages: each turns declared inputs into artifacts and imports only `mlplat.core`."""
