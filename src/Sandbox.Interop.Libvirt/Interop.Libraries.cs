namespace Sandbox.Interop.Libvirt;

/// <summary>Names of the native libraries this assembly binds to.</summary>
internal static class Libraries
{
    /// <summary>Debian's libvirt0; the soname, so no -dev package is needed.</summary>
    public const string Libvirt = "libvirt.so.0";
}
