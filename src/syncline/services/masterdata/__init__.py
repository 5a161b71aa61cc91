"""The firm's master data as a capability: the file that seeds it (``files``), the versions
set through the API or the CLI, audited, and the system's current reference (``store``).

Which master data is current: the highest version in the database (``master_data_versions``)
once one was set (``PUT /v1/master-data``, ``syncline master-data load FILE``); until then the
file named by SYNCLINE_MASTER_DATA; without one, the built-in firm (DEFAULT_REFERENCE). A
changed file is not read over a stored version: load it (``master-data load``) to make it
current, so every change goes through validation and the audit log.
"""

from syncline.services.masterdata.files import (
    MasterDataInvalid,
    load_master_data,
    master_data_for,
)
from syncline.services.masterdata.store import (
    CurrentReference,
    current_document,
    set_master_data,
    stored_versions,
)

__all__ = ["CurrentReference", "MasterDataInvalid", "current_document", "load_master_data",
           "master_data_for", "set_master_data", "stored_versions"]
