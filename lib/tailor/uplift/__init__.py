"""Uplift modelling from a finished experiment: meta-learners on Spark GBT (:mod:`tailor.uplift.learners`) and
their out-of-sample evaluation by the Qini curve (:mod:`tailor.uplift.qini`)."""
