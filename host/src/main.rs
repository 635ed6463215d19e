fn main() {
    let rt = sigward_host::Runtime::new(Default::default()).unwrap();
    println!(
        "{:?} {}",
        rt.component_imports(),
        sigward_host::Runtime::component_size()
    );
}
