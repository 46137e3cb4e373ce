//! Where an image comes from: registry, OCI layout, docker-archive.
