"""The administrators' needs-attention queue: held work and payments a person must look at."""
