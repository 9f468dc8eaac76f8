// The Datasets module. Its files live in this folder; see README.md for the architecture.
