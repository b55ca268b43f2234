"""Data layer: the eccv16 HDF5 schema, benchmark annotations, split files and where data lives."""
