"""From the outbox to the receivers: the delivery pass, Apprise, the heartbeat and the signed
web links the messages carry.
"""
