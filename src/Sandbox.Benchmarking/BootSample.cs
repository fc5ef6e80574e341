namespace Sandbox.Benchmarking;

/// <summary>
/// One start-to-exit run, in milliseconds from the moment the harness asked for the sandbox.
/// A mark the subject cannot observe (e.g. runc has no init of ours) is null.
/// </summary>
public sealed record BootSample(string Subject, int Iteration, double? InitMs, double? ExecMs, double ExitMs, double? GoneMs, string? Accelerator);
