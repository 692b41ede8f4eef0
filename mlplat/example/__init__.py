"""The bundled example project: a seeded telco customer-churn data set."""
