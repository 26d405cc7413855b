"""An app for the CLI's option tests; they fail before it would run."""

from consumerkit import App, Message

app = App("memory://")


@app.handler("jobs")
async def work(message: Message) -> None:
    pass
