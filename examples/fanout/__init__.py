"""Messages that arrive wrapped: SNS notifications and S3 event notifications, decoded into typed payloads."""
