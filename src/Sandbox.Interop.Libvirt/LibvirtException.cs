using System.Runtime.InteropServices;

namespace Sandbox.Interop.Libvirt;

/// <summary>A failed libvirt call: libvirt's error code and domain (virErrorNumber, virErrorDomain) and its message.</summary>
public sealed class LibvirtException : Exception
{
    public LibvirtException(int code, int domain, string message, string? call = null)
        : base(call is null ? message : $"{call}: {message}")
    {
        Code = code;
        Domain = domain;
        Call = call;
    }

    /// <summary>virErrorNumber (e.g. 38 VIR_ERR_SYSTEM_ERROR, 42 VIR_ERR_NO_DOMAIN).</summary>
    public int Code { get; }

    /// <summary>virErrorDomain: which part of libvirt reported it.</summary>
    public int Domain { get; }

    public string? Call { get; }

    public const int ErrNoDomain = 42;
    public const int ErrOperationInvalid = 55;
    public const int ErrNoSupport = 3;
    public const int ErrSystemError = 38;

    /// <summary>The calling thread's last libvirt error; call right after the failed function, on the same thread.</summary>
    public static unsafe LibvirtException FromLastError(string call)
    {
        var p = Interop.virGetLastError();
        if (p == IntPtr.Zero)
            return new LibvirtException(0, 0, "failed without an error from libvirt", call);
        ref var e = ref *(Interop.ErrorNative*)p;
        var message = Marshal.PtrToStringUTF8(e.Message) ?? "unknown libvirt error";
        var ex = new LibvirtException(e.Code, e.Domain, message, call);
        Interop.virResetLastError();
        return ex;
    }
}
