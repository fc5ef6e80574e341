namespace Sandbox.Interop.Libc;

/// <summary>Names of the native libraries this assembly binds to.</summary>
internal static class Libraries
{
    public const string LibC = "libc";
}
