"""The local runtime: the whole system on moto, on 127.0.0.1, with no AWS account."""
