using Sandbox.Protocol;

namespace Sandbox.Init;

/// <summary>
/// The workload's working directory, made to exist after the root switch. The path is resolved inside the sandbox's
/// root the way the workload will see it (symlinks followed, never leaving the root), and the directory it names is
/// created, as docker does: an image whose <c>/work</c> is a symlink to <c>/srv/work</c> gets <c>/srv/work</c>
/// created, whether or not the link's target exists yet.
/// </summary>
internal static class WorkingDirectory
{
    /// <summary>Returns the resolved directory (the path the workload's cwd will really be).</summary>
    public static string Prepare(string path)
    {
        string resolved;
        try { resolved = PathInRoot.Resolve("/", path); }
        catch (IOException e) { throw new InitSetupException(InitFailure.WorkingDir, $"working directory {path}: {e.Message}", 40 /* ELOOP */, e); }
        var via = resolved == path ? "" : $" (it resolves to {resolved})";
        if (File.Exists(resolved))
            throw new InitSetupException(InitFailure.WorkingDir,
                $"working directory {path}{via} exists in the image and is not a directory", 20 /* ENOTDIR */);
        PathInRoot.CreateDirectory("/", resolved, InitFailure.WorkingDir, $"working directory {path}{via}");
        return resolved;
    }
}
