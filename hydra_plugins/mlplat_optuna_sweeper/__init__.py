"""mlplat's Hydra sweeper (hydra/sweeper=mlplat_optuna): optuna ask/tell, within budget.sweep."""
