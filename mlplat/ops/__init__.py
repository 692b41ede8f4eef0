"""Operations on registered models: monitoring, deployment sizing, bench, promotion and
the ML Test Score."""
