using Sandbox.Core;

namespace Sandbox.Lifecycle;

/// <summary>
/// A sandbox's <c>state.json</c> cannot be read (truncated by a full disk, overwritten, hand-edited): names the file and
/// the way back, <c>sandbox rm -f ID</c>, which removes what is left of the sandbox and never touches an image.
/// </summary>
public sealed class SandboxStateException(string id, string path, string problem, Exception? inner = null)
    : SandboxException(SandboxFailure.Host,
        $"the state file {path} of sandbox {id} is unreadable ({problem}): 'sandbox rm -f {id}' removes the sandbox (images are kept)",
        inner)
{
    public string Id { get; } = id;
    public string StatePath { get; } = path;
}
