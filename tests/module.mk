# tests: sources, programs and tests (see the root Makefile for the variables).
