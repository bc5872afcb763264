-- Provisions what the migrations expect but do not create: the login role
-- rtmanagerservice, the database galaxy and the schema rtmanager it owns.
-- Idempotent; run as a superuser with psql (make deps does it).
SELECT 'CREATE ROLE rtmanagerservice LOGIN PASSWORD ''rtmanagerservice'''
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rtmanagerservice') \gexec

SELECT 'CREATE DATABASE galaxy OWNER rtmanagerservice'
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'galaxy') \gexec

\connect galaxy
-- IF NOT EXISTS reports an existing schema as a NOTICE on every run; only
-- warnings and errors are worth a line. Set after \connect: a setting
-- belongs to its connection.
SET client_min_messages = warning;
CREATE SCHEMA IF NOT EXISTS rtmanager AUTHORIZATION rtmanagerservice;
ALTER ROLE rtmanagerservice IN DATABASE galaxy SET search_path = rtmanager;
