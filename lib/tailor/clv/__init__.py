"""Customer lifetime value: BG/NBD purchase timing and Gamma-Gamma order value (:mod:`tailor.clv.btyd`), the
summary and scoring of every customer in Spark (:mod:`tailor.clv.summary`), and the bounded fits that join
the two (:mod:`tailor.clv.fit`)."""
