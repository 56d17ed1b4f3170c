"""The HDF5 run archive (write, read, check) and the provenance stored in it."""
