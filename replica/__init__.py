"""Moving datasets between sites (the DBB sync); built on ``oods`` and ``catalog``."""

__all__: list[str] = []
