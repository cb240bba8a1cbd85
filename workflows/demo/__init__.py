"""Demo app: the workflows. An example of using the framework, not part of it."""

from .approval import Approval, ApprovalParams
from .call_api import CallApi, CallApiParams
from .process_items import ProcessItems, ProcessItemsParams
from .sync_data import SyncData, SyncDataParams

__all__ = [
    "Approval",
    "ApprovalParams",
    "CallApi",
    "CallApiParams",
    "ProcessItems",
    "ProcessItemsParams",
    "SyncData",
    "SyncDataParams",
]
