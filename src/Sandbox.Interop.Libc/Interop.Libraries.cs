namespace Sandbox.Interop.Libc;

/// <summary>Names of the native libraries this assembly binds to.</summary>
internal static class Libraries
{
    public const string LibC = "libc";

    /// <summary>Our C shim (native/sandbox_native.c): everything that runs between fork/clone and execve.</summary>
    public const string SandboxNative = "libsandboxnative";
}
