"""Events the gateway consumes for webhooks to portals — arrives with the gateway issue."""
