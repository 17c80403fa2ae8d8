"""User profiles as of a cutoff date (:mod:`.profile`) and RFM scores and segments (:mod:`.rfm`)."""
