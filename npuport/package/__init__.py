"""Package what passed validation for a device, and verify a package on the target machine."""
