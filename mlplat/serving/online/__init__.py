"""Two arms on live traffic: assignment, shadow scoring, the online request log and outcomes."""
