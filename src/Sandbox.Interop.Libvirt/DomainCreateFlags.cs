namespace Sandbox.Interop.Libvirt;

/// <summary>virDomainCreateFlags.</summary>
[Flags]
public enum DomainCreateFlags : uint
{
    None = 0,
    StartPaused = 1,
    /// <summary>The domain is destroyed when the connection that created it closes (also when its process dies).</summary>
    AutoDestroy = 2,
    BypassCache = 4,
    ForceBoot = 8,
    Validate = 16,
}
