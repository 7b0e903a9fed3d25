"""Small library of standard interfaces shared by the T3 blocks (bus signatures)."""
