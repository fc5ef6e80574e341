namespace Sandbox.Cli;

/// <summary><c>sandbox images</c> and <c>sandbox image import|inspect|rm</c>.</summary>
public static class ImageCommands
{
    public static Task<int> ListAsync(GlobalOptions global, string[] args, CancellationToken ct) =>
        throw new Core.SandboxException(Core.SandboxFailure.BackendUnavailable, "the image store is not available in this build yet");

    public static Task<int> ExecuteAsync(GlobalOptions global, string[] args, CancellationToken ct) =>
        throw new Core.SandboxException(Core.SandboxFailure.BackendUnavailable, "the image store is not available in this build yet");
}
