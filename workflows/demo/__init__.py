"""Demo app: the workflows. An example of using the framework, not part of it."""

from .approval import Approval, ApprovalParams
from .process_items import ProcessItems, ProcessItemsParams

__all__ = ["Approval", "ApprovalParams", "ProcessItems", "ProcessItemsParams"]
