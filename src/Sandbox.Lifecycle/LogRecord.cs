namespace Sandbox.Lifecycle;

/// <summary>One line of docker's json-file log: <c>{"log":"…\n","stream":"stdout","time":"2026-…Z"}</c>.</summary>
public sealed record LogRecord(string Log, string Stream, DateTimeOffset Time);
