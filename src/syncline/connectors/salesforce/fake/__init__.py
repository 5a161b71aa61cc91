"""A fake Salesforce org for tests and offline trials (``httpx.MockTransport(FakeOrg(...))``),
and the helper that turns canonical deals into the records the connector reads back.

```python
org = FakeOrg(public_key=PEM)
org.load(deal_records(deal_data, settings))   # a simulated firm's deal, as Salesforce has it
```
"""

from syncline.connectors.salesforce.fake.org import FakeOrg
from syncline.connectors.salesforce.fake.records import (
    STANDARD,
    Unrepresentable,
    deal_records,
    salesforce_id,
)

__all__ = ["STANDARD", "FakeOrg", "Unrepresentable", "deal_records", "salesforce_id"]
