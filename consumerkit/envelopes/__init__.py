"""Typed views of the envelopes AWS services wrap around what they put on a queue: SNS notifications and S3
event notifications. Annotate a handler's parameter with one and the runtime decodes the body into it.

Each type decodes itself through a ``from_body`` classmethod, the hook :mod:`consumerkit.payloads` looks for, so
an envelope of your own (EventBridge, a partner's webhook relay) is a class with the same method. These are
pure parsers: no network, no clock, nothing but the body.
"""

from consumerkit.envelopes.s3 import S3Bucket, S3Event, S3Object, S3Record, S3TestEvent
from consumerkit.envelopes.sns import SnsAttribute, SnsNotification

__all__ = ["S3Bucket", "S3Event", "S3Object", "S3Record", "S3TestEvent", "SnsAttribute", "SnsNotification"]
