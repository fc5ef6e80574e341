namespace Sandbox.Cli;

/// <summary><c>sandbox cp SRC DEST</c>: copies between a sandbox's rootfs (<c>ID:/path</c>) and the host.</summary>
public static class CpCommand
{
    public static Task<int> ExecuteAsync(GlobalOptions global, string[] args, CancellationToken ct) =>
        throw new UsageException("'sandbox cp' is not implemented yet");
}
