//! Talks to real nodes: the lab and SSH. (Filled in by the lab work.)
