"""Tech Pal's server: the Litestar backend."""
