"""The engine over SQS's HTTP protocols (``consumerkit serve``): any SQS client can use it unchanged.

A transport over the engine, as the aiobotocore client is a transport to AWS; the engine itself knows nothing
of HTTP. Unlike the rest of ``consumerkit.engine`` this package imports aiohttp (the HTTP server) and botocore
(SQS's wire model and SigV4 signer), both of which aiobotocore already brings.
"""

from consumerkit.engine.server.app import SqsServer
from consumerkit.engine.server.config import Credentials, ServerConfig
from consumerkit.engine.server.serve import serve

__all__ = ["Credentials", "ServerConfig", "SqsServer", "serve"]
