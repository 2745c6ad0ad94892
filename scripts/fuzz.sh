#!/usr/bin/env bash
# Placeholder until the MIME fuzz target lands.
exit 0
