"""Association rules: baskets, FPGrowth behind a guard, frequently-bought-together and cross-sell."""
