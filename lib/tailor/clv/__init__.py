"""Customer lifetime value: BG/NBD purchase timing and Gamma-Gamma order value (:mod:`tailor.clv.btyd`), and the
summary and scoring of every customer in Spark (:mod:`tailor.clv.summary`)."""
